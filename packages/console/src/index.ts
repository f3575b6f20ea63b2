/**
 * @mm-gateway/console — the operator console (README.md): a page the api serves at `/console`. This
 * module only says where its built assets are; the app (apps/api) hands that directory to the server.
 */
import { fileURLToPath } from "node:url"

/**
 * Where the built console is: `dist/console`, one level up from this module. From the sources that
 * is this package's `dist/console` (written by `build.mjs`); in an app's bundle (`dist/main.js`) it is
 * the bundle's own `dist/console`, where scripts/bundle-app.mjs copies it.
 */
export const assetsDirectory = (): string => fileURLToPath(new URL("../dist/console/", import.meta.url))
