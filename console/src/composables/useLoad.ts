// What a page reads from the API, with its loading flag and the error to show: `load()` asks
// (again), and only the newest answer counts, so a quick change of filter never ends with an
// older, slower answer on the page. A failed load keeps what was shown, or shows `initial`
// again with `clearOnError` (no figures of another scope beside the refusal).
import { ref, type Ref } from 'vue'

interface Options {
  clearOnError?: boolean
}

export function useLoad<T>(fetch: () => Promise<T>, initial: NoInfer<T>, options?: Options): Loaded<T>
export function useLoad<T>(fetch: () => Promise<T>, initial: null, options?: Options): Loaded<T | null>
export function useLoad<T>(fetch: () => Promise<T>, initial: T, options: Options = {}): Loaded<T> {
  const data = ref(initial) as Ref<T>
  const loading = ref(false)
  const error = ref('')
  let sent = 0

  async function load() {
    const ticket = ++sent
    loading.value = true
    try {
      const answer = await fetch()
      if (ticket !== sent) return
      data.value = answer
      error.value = ''
    } catch (exc) {
      if (ticket !== sent) return
      if (options.clearOnError) data.value = initial
      error.value = (exc as Error).message
    } finally {
      if (ticket === sent) loading.value = false
    }
  }

  return { data, loading, error, load }
}

export interface Loaded<T> {
  data: Ref<T>
  loading: Ref<boolean>
  error: Ref<string>
  load: () => Promise<void>
}
