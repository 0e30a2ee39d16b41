import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'downloads/', 'test-output/', '.redis-data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['web/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['test/**', 'testkit/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
)
