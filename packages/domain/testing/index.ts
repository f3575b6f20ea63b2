export { eventStoreContract } from "./event-store-contract.js"
export { unitOfWorkContract } from "./unit-of-work-contract.js"
export { deciderSpec } from "./decider-spec.js"
export { type Environment, PROPERTY_TEST, type PropertySettings, propertySettings, PropertySettingsInvalid } from "./property-settings.js"
