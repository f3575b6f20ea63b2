import type { Projection } from "../projection.js"
import { clicksProjection } from "./clicks.js"
import { channelsProjection, settingsProjection, templatesProjection } from "./configuration.js"
import { messagesProjection } from "./messages.js"
import { onboardingProjection } from "./onboarding.js"

export { clicksProjection, makeClickQueries } from "./clicks.js"
export { channelForDispatch, channelsProjection, makeConfigurationQueries, settingsProjection, templatesProjection } from "./configuration.js"
export { makeDispatchQueue, makeMessageCandidates, makeMessageQueries, messagesProjection } from "./messages.js"
export { makeOnboardingQueries, onboardingProjection } from "./onboarding.js"

/** Every read model the API and the worker read (docs/api.md#resources), in the order they are applied. */
export const allProjections: ReadonlyArray<Projection> = [
  onboardingProjection,
  channelsProjection,
  settingsProjection,
  templatesProjection,
  messagesProjection,
  clicksProjection
]
