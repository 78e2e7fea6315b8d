import path from 'node:path';

/** Content types of the built renderer's files, for the app protocol and the web host alike. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type of a renderer asset, or undefined for a file that is not one. */
export function staticContentType(file: string): string | undefined {
  return TYPES[path.extname(file).toLowerCase()];
}
