// The panels beside the intake form, after 来电信息 / 相似工单 / 漏接回拨. Another area adds its
// panel here (the knowledge base's search for 直办), without touching the agent page:
//
//   sidePanels.push({ name: 'knowledge', label: '知识库', order: 10,
//                     component: defineAsyncComponent(() => import('@/pages/knowledge/AgentSearch.vue')) })
//
// A panel gets the props `draft` (what the agent has typed so far) and `call` (the popped call or
// null), and may emit `answered` with the ticket it closed (直办): the page then clears the form.
import type { Component } from 'vue'

import type { ScreenPop } from '@/api/telephony'

export interface IntakeDraft {
  title: string
  content: string
  category: string | null
  appeal_type: string
  urgency: string
  address: string
  phone: string
  contact_name: string
  source_call_id: string | null
}

export interface SidePanelProps {
  draft: IntakeDraft
  call: ScreenPop | null
}

export interface SidePanel {
  name: string
  label: string
  order: number
  component: Component
}

export const sidePanels: SidePanel[] = []
