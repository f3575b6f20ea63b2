/**
 * @mm-gateway/console — the operator console (README.md): a page the api serves at `/console`. This
 * module only says where its built assets are; the app (apps/api) hands that directory to the server.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

/**
 * Where the built console is. In an app's bundle, `console/` beside the bundle: scripts/bundle-app.mjs
 * (`dist/main.js`) and scripts/dev-app.mjs (`.dev/main.js`) copy it there. From the sources, this
 * package's `dist/console`, which `build.mjs` writes.
 */
export const assetsDirectory = (): string => {
  const beside = fileURLToPath(new URL("./console/", import.meta.url))
  return existsSync(beside) ? beside : fileURLToPath(new URL("../dist/console/", import.meta.url))
}
