// Types for web/nucleus-view.js: the nucleus view and the <nucleus-view> custom element.
/// <reference lib="dom" />
import type { StepReport } from './index.js';

/** What drawNucleus needs of a report (a StepReport, or a GenerateStep, has it all). */
export type NucleusReport = Pick<StepReport, 'ids' | 'probs' | 'cumulative' | 'nucleusSize' | 'nucleusMass' | 'vocabSize'> &
  Partial<Pick<StepReport, 'entropy' | 'token' | 'coin'>>;

export interface NucleusDrawing {
  report: NucleusReport;
  label: (id: number) => string;
  topP: number;
  /** The token drawn or forced at this step (-1: none). */
  chosen?: number;
  coin?: number | null;
  /** Rank with keyboard focus (-1: none). */
  focus?: number;
  /** The end of each bar's tooltip. */
  pickHint?: string;
}

/** The viewBox drawNucleus draws in. */
export const NUCLEUS_VIEWBOX: string;
/** The view's styles (scoped to svg.nucleus-chart), themable with --nucleus-* custom properties. */
export const NUCLEUS_CSS: string;
export function nucleusStyleSheet(): CSSStyleSheet;
/** Draws into root; onPick(rank) on a bar click. Returns the rank the coin lands on, or -1. */
export function drawNucleus(root: SVGSVGElement, view: NucleusDrawing, onPick?: (rank: number) => void): number;
export function landingRank(report: NucleusReport, coin: number): number;
export function displayToken(text: string, max?: number): string;
export function svg(tag: string, attrs?: Record<string, string | number | undefined>, ...children: Array<Node | string>): SVGElement;
export function setText(node: Node, text: string): void;

export interface NucleusViewEventMap {
  'nucleus-pick': CustomEvent<{ rank: number; id: number; text: string }>;
  'nucleus-input': CustomEvent<{ topP: number; temperature: number }>;
  'nucleus-draw': CustomEvent<{ report: StepReport }>;
  'nucleus-error': CustomEvent<{ error: Error & { code?: string } }>;
}

/** <nucleus-view>: give it logits or a report, and token texts. */
export class NucleusViewElement extends HTMLElement {
  /** Logits: the element computes the report with the sampler at its top-p and temperature. */
  logits: ArrayLike<number> | null;
  /** A report drawn as it is (setting it replaces the logits); after a draw, the report drawn. */
  report: StepReport | null;
  /** Token texts by id. */
  tokens: string[] | ((id: number) => string);
  topP: number;
  temperature: number;
  /** The token marked as drawn (-1: none; a report's token by default). */
  chosen: number | null;
  addEventListener<K extends keyof NucleusViewEventMap>(type: K, listener: (this: NucleusViewElement, ev: NucleusViewEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'nucleus-view': NucleusViewElement;
  }
}
