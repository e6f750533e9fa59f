/// <reference types="vite/client" />

import 'vue-router'
import type { Component } from 'vue'

import type { Role } from './api/types'

declare module 'vue-router' {
  interface RouteMeta {
    /** The page title (browser tab, header). */
    title?: string
    /** Roles that may open the page; absent: every logged-in user. */
    roles?: readonly Role[]
    /** Shown in the side menu under `group`, sorted by `order`. */
    menu?: { group: MenuGroup; order: number; icon?: Component }
    /** Keep the page (and a half-filled form) alive while the user opens other pages. */
    keepAlive?: boolean
    /** Drawn alone, without the menu and header (the wallboard on the center's wall). */
    fullscreen?: boolean
  }
}

export type MenuGroup = 'work' | 'agent' | 'dispatch' | 'department' | 'callback' | 'supervise' | 'knowledge' | 'admin'
