// A table row's button that acts at once (no form): `busy` is the id of the row whose action is
// running (the button's loading state), and a refusal shows as a message.
import { ref, type Ref } from 'vue'

export function useRowAction<K extends number | string = number>() {
  const busy = ref(null) as Ref<K | null>

  /** Run the row's action (its success message and reload included); a failure is shown. */
  async function run(key: K, action: () => Promise<unknown>): Promise<void> {
    busy.value = key
    try {
      await action()
    } catch (exc) {
      ElMessage.error((exc as Error).message)
    } finally {
      busy.value = null
    }
  }

  return { busy, run }
}
