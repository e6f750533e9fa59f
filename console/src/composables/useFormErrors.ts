// A form's errors from the API: each field's message beside the field (el-form-item's `error`),
// everything else in one alert above the buttons; `code` is the refusal's reason (`stale_version` …)
// for a form that acts on it.
import { reactive, ref } from 'vue'

import { ApiError } from '@/api/client'
import { fieldMessage } from '@/api/errors'

export function useFormErrors(fieldLabels: Record<string, string> = {}) {
  const fields = reactive<Record<string, string>>({})
  const message = ref('')
  const code = ref('')
  const busy = ref(false)

  function clear() {
    for (const key of Object.keys(fields)) delete fields[key]
    message.value = ''
    code.value = ''
  }

  function show(exc: unknown) {
    clear()
    if (!(exc instanceof ApiError)) {
      message.value = (exc as Error).message
      return
    }
    code.value = exc.code
    const others: string[] = []
    for (const err of exc.errors) {
      const name = [...err.loc].reverse().find((p) => typeof p === 'string' && p in fieldLabels) as string | undefined
      if (name && !fields[name]) fields[name] = fieldMessage(err)
      else if (!name) others.push(fieldMessage(err))
    }
    const placed = Object.keys(fields).length > 0
    message.value = placed && !others.length ? '' : [exc.message, ...others].filter(Boolean).join('；')
  }

  /** Run a submission: clears old errors, shows new ones; answers the result or undefined. */
  async function run<T>(submit: () => Promise<T>): Promise<T | undefined> {
    clear()
    busy.value = true
    try {
      return await submit()
    } catch (exc) {
      show(exc)
      return undefined
    } finally {
      busy.value = false
    }
  }

  return { fields, message, code, busy, run, show, clear }
}
