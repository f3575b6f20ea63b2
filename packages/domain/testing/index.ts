export { eventStoreContract } from "./event-store-contract.js"
export { deciderSpec } from "./decider-spec.js"
export { type Environment, type PropertySettings, propertySettings, PropertySettingsInvalid } from "./property-settings.js"
