import type { Projection } from "../projection.js"
import { clicksProjection } from "./clicks.js"
import { channelsProjection, settingsProjection, templatesProjection } from "./configuration.js"
import { messagesProjection } from "./messages.js"
import { onboardingProjection } from "./onboarding.js"

export { clicksProjection } from "./clicks.js"
export { channelsProjection, settingsProjection, templatesProjection } from "./configuration.js"
export { messagesProjection } from "./messages.js"
export { onboardingProjection } from "./onboarding.js"

/** Every read model the API reads (docs/api.md#resources), in the order they are applied. */
export const allProjections: ReadonlyArray<Projection> = [
  onboardingProjection,
  channelsProjection,
  settingsProjection,
  templatesProjection,
  messagesProjection,
  clicksProjection
]
