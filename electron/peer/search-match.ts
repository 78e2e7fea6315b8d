import type { MediaType } from '../../shared/types.js';

/** Lower-case, accents folded (é → e), so "Café" matches "cafe". */
function foldText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** Split a query into terms on anything that is not a letter or digit. */
function queryTerms(query: string): string[] {
  return foldText(query)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0)
    .slice(0, 16);
}

/** A compiled keyword query: every term must appear in the folded name. */
export class KeywordQuery {
  readonly terms: string[];
  constructor(
    query: string,
    readonly type?: MediaType,
  ) {
    this.terms = queryTerms(query);
  }
  matches(name: string, type: MediaType): boolean {
    if (this.type && this.type !== type) return false;
    if (this.terms.length === 0) return false;
    const folded = foldText(name);
    return this.terms.every((t) => folded.includes(t));
  }
}
