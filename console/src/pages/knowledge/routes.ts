import { Collection, EditPen, Stamp } from '@element-plus/icons-vue'
import { defineAsyncComponent, markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/types'
import { sidePanels } from '@/pages/agent/sidePanels'

/** Who writes drafts and proposals: departments for themselves, the hotline's editors for all. */
export const EDITORS: readonly Role[] = ['dept_handler', 'dept_head', 'supervisor', 'admin']
/** Who approves, rejects and withdraws. */
export const REVIEWERS: readonly Role[] = ['supervisor', 'admin']

const routes: RouteRecordRaw[] = [
  {
    path: '/knowledge',
    name: 'knowledge',
    component: () => import('./SearchPage.vue'),
    meta: { title: '知识检索', menu: { group: 'knowledge', order: 10, icon: markRaw(Collection) } },
  },
  {
    path: '/knowledge/articles/:id(\\d+)',
    name: 'knowledge-article',
    component: () => import('./ArticlePage.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { title: '知识详情' },
  },
  {
    path: '/knowledge/new',
    name: 'knowledge-new',
    component: () => import('./EditorPage.vue'),
    meta: { title: '编写知识', roles: EDITORS, menu: { group: 'knowledge', order: 20, icon: markRaw(EditPen) } },
  },
  {
    path: '/knowledge/articles/:id(\\d+)/edit',
    name: 'knowledge-edit',
    component: () => import('./EditorPage.vue'),
    props: (route) => ({ articleId: Number(route.params.id) }),
    meta: { title: '修改知识', roles: EDITORS },
  },
  {
    path: '/knowledge/versions/:id(\\d+)/edit',
    name: 'knowledge-draft',
    component: () => import('./EditorPage.vue'),
    props: (route) => ({ versionId: Number(route.params.id) }),
    meta: { title: '修改稿件', roles: EDITORS },
  },
  {
    path: '/knowledge/versions',
    name: 'knowledge-versions',
    component: () => import('./VersionsPage.vue'),
    meta: { title: '稿件与审核', roles: EDITORS, menu: { group: 'knowledge', order: 30, icon: markRaw(Stamp) } },
  },
]
export default routes

// The agent's desk shows the knowledge base beside the intake form, with 直办 from an article.
sidePanels.push({
  name: 'knowledge',
  label: '知识库',
  order: 10,
  component: markRaw(defineAsyncComponent(() => import('./AgentSearch.vue'))),
})
