// The page's diversity measures (distinct-2, 4-gram repetition rate): the package's own, so
// the page and the CLI's sweeps count the same way. Definitions in web/metrics.js.
export { distinct2, repetitionRate, words } from '../web/metrics.js';
