import type { Ids } from "../src/index.js"

export const BM = "271828182845904" as Ids.BusinessManagerId
export const BM2 = "314159265358979" as Ids.BusinessManagerId
export const WABA = "102290129340398" as Ids.WabaId
export const WABA2 = "102290129340399" as Ids.WabaId
export const PHONE = "106540352242922" as Ids.PhoneNumberId
export const TO = "16505551234" as Ids.RecipientNumber
export const MSG = "msg_01" as Ids.MessageId
export const WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3RjQ2RTA5QTkwNUJFQkFGNUUA" as Ids.Wamid
