import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// The close codes live with the server's protocol package; both sides read the same file.
const protocolDir = fileURLToPath(new URL('../src/coreport/protocol', import.meta.url))

// `npm run dev` proxies the WebSocket and REST paths to a running `coreport serve`
// (or any y-websocket server) so the dev server behaves like the real deployment.
const backend = process.env.COREPORT_DEV_BACKEND ?? 'http://127.0.0.1:8000'

export default defineConfig({
  resolve: {
    alias: { '@protocol': protocolDir },
  },
  server: {
    fs: { allow: ['.', protocolDir] },
    proxy: {
      '/ws': { target: backend, ws: true },
      '/api': { target: backend },
    },
  },
  build: {
    outDir: '../src/coreport/web/static',
    emptyOutDir: true,
    // One entry and a handful of chunks; keep warnings meaningful for the editor bundle.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        // The formula and code renderers are large and change rarely: their own cacheable chunks.
        codeSplitting: {
          groups: [
            { name: 'katex', test: /node_modules[\\/]katex[\\/]/ },
            { name: 'highlight', test: /node_modules[\\/](highlight\.js|lowlight)[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
})
