/**
 * @mm-gateway/log-line — the log record of every mm-gateway process (api, worker, sandbox): one line
 * each, whatever its message, annotations or cause hold.
 */
export { lineLogger } from "./line-logger.js"
