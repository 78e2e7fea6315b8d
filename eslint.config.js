import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * The architecture boundary as paths (as Signal Desktop does): each zone
 * lists where its relative imports may land, and which bare modules it may
 * not use. A relative import is resolved against the importing file, so
 * `../../x` is judged by the folder it reaches, however deep the importer is.
 */
const ZONES = [
  {
    // The peer is plain Node, shared by every front end: no adapter (cli, serve, web-host, main, ipc, preload,
    // app-protocol, ...) and no Electron.
    files: 'electron/peer/',
    allowed: (target) => !target.startsWith('electron/') || target.startsWith('electron/peer/'),
    why: 'electron/peer/ imports no adapter (cli, serve, web-host, main, ipc, preload, app-protocol)',
    bare: (name) => name === 'electron' || name.startsWith('electron/'),
  },
  {
    // The renderer knows only the contract in shared/ and its own files (plus npm packages).
    files: 'renderer/',
    allowed: (target) => target.startsWith('renderer/') || target.startsWith('shared/'),
    why: 'renderer/ imports only shared/ and its own files',
    bare: (name) => name === 'electron' || name.startsWith('electron/') || NODE_BUILTINS.has(name),
  },
];

const boundaryRule = {
  meta: { type: 'problem', schema: [], docs: { description: 'imports stay inside their architecture zone' } },
  create(context) {
    const file = path.relative(ROOT, context.filename).split(path.sep).join('/');
    const zone = ZONES.find((z) => file.startsWith(z.files));
    if (!zone) return {};
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (!source.startsWith('.') && !source.startsWith('/')) {
        if (zone.bare(source)) context.report({ node, message: `${zone.why}; "${source}" is not allowed here.` });
        return;
      }
      const target = path
        .relative(ROOT, path.resolve(path.dirname(context.filename), source))
        .split(path.sep)
        .join('/');
      if (!zone.allowed(target)) context.report({ node, message: `${zone.why}; "${source}" reaches ${target}.` });
    };
    const fromSource = (node) => node.source && check(node, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === 'TSExternalModuleReference' && check(node, node.moduleReference.expression.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules', 'out', 'dist', 'dist-web', 'test-results', 'playwright-report', 'e2e/screenshots'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    files: ['electron/peer/**/*.{ts,tsx}', 'renderer/**/*.{ts,tsx}'],
    plugins: { boundary: { rules: { imports: boundaryRule } } },
    rules: { 'boundary/imports': 'error' },
  },
);
