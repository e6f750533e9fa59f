// The dispatchers' queue (GET /dispatch/queue), shared by 待派单, 退单审核 and 并单 while shown,
// refreshed every few seconds without a reload.
import { ref } from 'vue'

import { dispatchApi, type QueueItem } from '@/api/dispatch'
import { useLive } from '@/composables/useLive'

export function useQueue(seconds = 5) {
  const items = ref<QueueItem[]>([])
  const loading = ref(false)
  const error = ref('')
  const loaded = ref(false)
  async function load() {
    loading.value = !loaded.value
    try {
      items.value = await dispatchApi.queue()
      error.value = ''
      loaded.value = true
    } catch (exc) {
      error.value = (exc as Error).message
    } finally {
      loading.value = false
    }
  }
  const { refresh } = useLive(load, seconds)
  return { items, loading, error, refresh }
}
