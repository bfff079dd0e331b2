/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Optional: a WebSocket base other than `ws(s)://<this host>/ws/reports`. */
  readonly VITE_COREPORT_WS_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
