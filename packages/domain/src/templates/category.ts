import { Schema } from "effect"

/**
 * A template's category as Meta names it. Its own module because the errors (`TtlOutOfRange`) name it
 * too, and the template module needs the errors; the `Template` namespace exports it.
 */
export const TemplateCategory = Schema.Literal("MARKETING", "UTILITY", "AUTHENTICATION")
export type TemplateCategory = typeof TemplateCategory.Type
