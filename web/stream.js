// Streamed text from token bytes: what Model.generate and the demo's chat show while tokens
// arrive. A character split across tokens waits for its last byte, and a tail that may be the
// start of a stop string waits until the next token shows whether it is one; a stop string
// ends the text just before it.

/** The longest suffix of text that is a prefix of some stop string (held back while streaming). */
function pendingStopPrefix(text, stops) {
  let keep = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > keep; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        keep = k;
        break;
      }
    }
  }
  return keep;
}

export class TextStream {
  #decoder = new TextDecoder();
  #stops;
  #text = '';
  #emitted = 0; // text[0..emitted) has been returned and holds no stop string
  /** True once a stop string was found: the text ended before it. */
  stopped = false;

  /** stops: strings that end the text (empty ones are ignored). */
  constructor(stops = []) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  /** Adds a token's bytes (Uint8Array); returns the new text that can be shown now. */
  push(bytes) {
    if (this.stopped) return '';
    this.#text += this.#decoder.decode(bytes, { stream: true });
    return this.#release(false);
  }

  /** Ends the stream; returns the text held back (an unfinished character as U+FFFD). */
  end() {
    if (this.stopped) return ''; // bytes after a stop string lie past the cut
    this.#text += this.#decoder.decode();
    return this.#release(true);
  }

  /** The whole text shown so far. */
  get text() {
    return this.#text.slice(0, this.#emitted);
  }

  #release(final) {
    let stopAt = -1;
    for (const s of this.#stops) {
      const at = this.#text.indexOf(s, this.#emitted);
      if (at >= 0 && (stopAt < 0 || at < stopAt)) stopAt = at;
    }
    if (stopAt >= 0) {
      this.#text = this.#text.slice(0, stopAt);
      this.stopped = true;
    }
    const upTo = final || this.stopped ? this.#text.length : this.#text.length - pendingStopPrefix(this.#text.slice(this.#emitted), this.#stops);
    const out = this.#text.slice(this.#emitted, Math.max(this.#emitted, upTo));
    this.#emitted = Math.max(this.#emitted, upTo);
    return out;
  }
}
