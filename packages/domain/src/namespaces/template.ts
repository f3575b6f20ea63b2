/** The `Template` namespace: the template's stream and its category. */
export * from "../templates/template.js"
export { TemplateCategory } from "../templates/category.js"
