// Every error the package throws on purpose is a NucleusError with a stable string `code`.

const C_CODES = {
  1: 'INVALID_ARGUMENT',
  2: 'INVALID_LOGITS',
  3: 'OUT_OF_MEMORY',
  4: 'BAD_FORMAT',
  5: 'UNSUPPORTED',
  6: 'INVALID_STATE',
  7: 'INVALID_TEXT',
};

export class NucleusError extends Error {
  /**
   * @param {string} message
   * @param {string} code one of INVALID_ARGUMENT, INVALID_LOGITS, OUT_OF_MEMORY, BAD_FORMAT,
   *   UNSUPPORTED, INVALID_STATE, INVALID_TEXT, DISPOSED, IO, ABORTED, TEMPLATE
   */
  constructor(message, code, options) {
    super(message, options);
    this.name = 'NucleusError';
    this.code = code;
  }

  /** Wraps a nonzero C result code and its message. */
  static fromC(rc, message) {
    const error = new NucleusError(message || `error ${rc}`, C_CODES[rc] ?? 'INTERNAL');
    error.errno = rc;
    return error;
  }
}

export function invalid(message) {
  return new NucleusError(message, 'INVALID_ARGUMENT');
}
