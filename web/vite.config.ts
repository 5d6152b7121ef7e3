import { defineConfig } from "vitest/config";

// The built files are embedded into the kaito-rag binary (src/api/embed_web.cmake) and served
// from / with a strict CSP: no inline scripts or styles, so nothing here may need them.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` against a local `kaito-rag serve`.
    proxy: { "/v1": "http://127.0.0.1:8080", "/readyz": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    pool: "forks",
    testTimeout: 30000,
    include: ["tests/unit/**/*.test.ts"],
  },
});
