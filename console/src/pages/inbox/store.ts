import { defineStore } from 'pinia'
import { ref } from 'vue'

/** The unread count shown in the header, refreshed by the bell and the inbox page alike. */
export const useInbox = defineStore('inbox', () => {
  const unread = ref(0)
  return { unread }
})
