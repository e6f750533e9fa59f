// The dispatchers' queue (GET /dispatch/queue), shared by 待派单, 退单审核 and 并单 while shown,
// refreshed every few seconds without a reload.
import { computed, ref } from 'vue'

import { dispatchApi } from '@/api/dispatch'
import { useLive } from '@/composables/useLive'
import { useLoad } from '@/composables/useLoad'

export function useQueue(seconds = 5) {
  const loaded = ref(false)
  const queue = useLoad(async () => {
    const items = await dispatchApi.queue()
    loaded.value = true
    return items
  }, [])
  const { refresh } = useLive(queue.load, seconds)
  /** The spinner only until the first answer: the refreshes every few seconds do not flash it. */
  const loading = computed(() => queue.loading.value && !loaded.value)
  return { items: queue.data, loading, error: queue.error, refresh }
}
