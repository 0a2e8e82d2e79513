import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import vue from 'eslint-plugin-vue'
import vueParser from 'vue-eslint-parser'

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'resources/**', 'bench/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/essential'],
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
    // vue-tsc type-checks these files; eslint's no-undef does not know DOM types (typescript-eslint's advice)
    rules: { 'no-undef': 'off' },
  },
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', window: 'readonly', document: 'readonly', navigator: 'readonly', self: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // src/core is pure TypeScript: it runs in Node, the renderer and workers alike.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'zlib', 'crypto'], message: 'src/core must not import Node modules' },
        { group: ['electron', 'onnxruntime-node', 'onnxruntime-web', 'vue', 'pinia', 'ngl'], message: 'src/core takes runtimes as parameters' },
        { group: ['**/services/**', '**/main/**', '**/renderer/**', '**/serve/**', '**/cli/**'], message: 'imports point downwards only' },
      ] }],
    },
  },
  {
    files: ['src/services/**/*.ts', 'src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron'], message: 'services are shared by CLI, serve and main: no Electron import' },
        { group: ['**/main/**', '**/renderer/**', '**/serve/**', '**/cli/**'], message: 'imports point downwards only' },
      ] }],
    },
  },
)
