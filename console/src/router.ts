// The routes of every page folder (src/pages/<folder>/routes.ts), one guard for roles.
// A folder adds its pages by exporting its route records; the menu is read from their `meta`.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import type { Role } from './api/types'
import type { useSession } from './session'

const modules = import.meta.glob<{ default: RouteRecordRaw[] }>('./pages/*/routes.ts', { eager: true })
export const pageRoutes: RouteRecordRaw[] = Object.values(modules).flatMap((m) => m.default)

/** Where each role starts after logging in. */
export const HOME: Record<Role, string> = {
  agent: '/agent',
  dispatcher: '/dispatch/queue',
  dept_handler: '/department/inbox',
  dept_head: '/department/inbox',
  callback_agent: '/callback/queue',
  supervisor: '/dashboards/kpis',
  admin: '/admin/users',
}

export function allowed(roles: readonly Role[] | undefined, role: Role | null): boolean {
  return !roles || (role !== null && roles.includes(role))
}

export function createConsoleRouter(session: ReturnType<typeof useSession>) {
  const router = createRouter({
    history: createWebHistory('/console/'),
    routes: [
      {
        path: '/',
        name: 'home',
        redirect: () => {
          const home = session.role ? HOME[session.role] : '/tickets'
          return router.resolve(home).matched.length ? home : '/tickets'
        },
      },
      { path: '/login', name: 'login', component: () => import('./shell/LoginPage.vue'), meta: { title: '登录' } },
      ...pageRoutes,
      { path: '/forbidden', name: 'forbidden', component: () => import('./shell/ForbiddenPage.vue'), meta: { title: '无权访问' } },
      { path: '/:rest(.*)*', name: 'not-found', component: () => import('./shell/NotFoundPage.vue'), meta: { title: '页面不存在' } },
    ],
  })
  router.beforeEach((to) => {
    // Back to what was asked for after the login: '/' stays '/' (the role's start page), not where
    // '/' redirected before anyone was logged in.
    if (!session.user) return to.name === 'login' ? true : { name: 'login', query: { redirect: to.redirectedFrom?.fullPath ?? to.fullPath } }
    if (to.name === 'login') return typeof to.query.redirect === 'string' ? to.query.redirect : '/'
    if (!allowed(to.meta.roles, session.role)) return { name: 'forbidden', query: { from: to.fullPath } }
    return true
  })
  router.afterEach((to) => {
    document.title = `${to.meta.title ?? '工作台'} · 12345热线`
  })
  return router
}
