// The side menu: every route with `meta.menu` the user's role may open, grouped.
import type { Component } from 'vue'
import type { RouteRecordNormalized } from 'vue-router'

import type { Role } from '@/api/types'
import type { MenuGroup } from '@/env'
import { allowed } from '@/router'

export const GROUP_LABELS: Record<MenuGroup, string> = {
  agent: '话务',
  dispatch: '派单',
  department: '承办',
  callback: '回访',
  supervise: '督办与统计',
  knowledge: '知识库',
  work: '工单',
  admin: '系统管理',
}

export interface MenuEntry {
  path: string
  title: string
  icon?: Component
  order: number
}

export interface MenuSection {
  group: MenuGroup
  label: string
  entries: MenuEntry[]
}

export function menuFor(routes: RouteRecordNormalized[], role: Role | null): MenuSection[] {
  const sections = new Map<MenuGroup, MenuEntry[]>()
  for (const route of routes) {
    const menu = route.meta.menu
    if (!menu || !allowed(route.meta.roles, role)) continue
    const list = sections.get(menu.group) ?? []
    list.push({ path: route.path, title: route.meta.title ?? route.path, icon: menu.icon, order: menu.order })
    sections.set(menu.group, list)
  }
  return (Object.keys(GROUP_LABELS) as MenuGroup[])
    .filter((group) => sections.has(group))
    .map((group) => ({
      group,
      label: GROUP_LABELS[group],
      entries: sections.get(group)!.sort((a, b) => a.order - b.order),
    }))
}
