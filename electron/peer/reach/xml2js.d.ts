/** The part of xml2js (no bundled types) that upnp-igd1.ts uses. */
declare module 'xml2js' {
  interface ParserOptions {
    explicitArray?: boolean;
    explicitRoot?: boolean;
    ignoreAttrs?: boolean;
    tagNameProcessors?: ((name: string) => string)[];
  }
  const xml2js: {
    parseStringPromise(xml: string, options?: ParserOptions): Promise<unknown>;
    processors: { stripPrefix(name: string): string };
  };
  export default xml2js;
}
