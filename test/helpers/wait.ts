/** Polls an asynchronous check (e.g. a Redis read) until it holds or time runs out. */
export { pollUntil as waitUntil, sleep } from '../../src/lab/poll.js'
