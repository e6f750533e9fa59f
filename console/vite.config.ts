// The staff console's build: one Vue 3 application served by the product under /console/.
// Element Plus components are imported on demand (unplugin-vue-components), every page is a lazy
// route, and each built file gets a gzip and a brotli copy that the server picks by Accept-Encoding.
import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import Components from 'unplugin-vue-components/vite'
import { defineConfig } from 'vite'
import { compression } from 'vite-plugin-compression2'

// Built into the Python package so an installed wheel (and the Docker image) carries it.
const outDir = fileURLToPath(new URL('../hotline/console_dist', import.meta.url))

export default defineConfig({
  base: '/console/',
  plugins: [
    vue(),
    AutoImport({ resolvers: [ElementPlusResolver()], dts: 'src/auto-imports.d.ts' }),
    Components({ resolvers: [ElementPlusResolver({ importStyle: 'css' })], dts: 'src/components.d.ts' }),
    compression({ algorithms: ['gzip', 'brotliCompress'], threshold: 1024, logLevel: 'silent' }),
  ],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir,
    emptyOutDir: true,
    // No inline <script>/<style> and nothing from another origin (the server's CSP forbids both).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 800,
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev`: the API of a `hotline up` running on 127.0.0.1:8000.
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
})
