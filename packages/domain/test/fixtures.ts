import type { BusinessManagerId, MessageId, PhoneNumberId, RecipientNumber, WabaId, Wamid } from "../src/index.js"

export const BM = "271828182845904" as BusinessManagerId
export const BM2 = "314159265358979" as BusinessManagerId
export const WABA = "102290129340398" as WabaId
export const WABA2 = "102290129340399" as WabaId
export const PHONE = "106540352242922" as PhoneNumberId
export const TO = "16505551234" as RecipientNumber
export const MSG = "msg_01" as MessageId
export const WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3RjQ2RTA5QTkwNUJFQkFGNUUA" as Wamid
