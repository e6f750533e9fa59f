// What every page needs to show codes as words: the API's vocabulary and the department tree,
// loaded once per session.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { referenceApi } from '@/api/reference'
import type { Department, Option, Vocabulary } from '@/api/types'

export interface DepartmentNode {
  value: number
  label: string
  code: string
  level: Department['level']
  disabled?: boolean
  children?: DepartmentNode[]
}

export const useReference = defineStore('reference', () => {
  const vocabulary = ref<Vocabulary | null>(null)
  const departments = ref<Department[]>([])
  const error = ref('')
  let loading: Promise<void> | null = null

  /** Load once (again after a failure); never rejects: `error` says what went wrong. */
  function load(): Promise<void> {
    if (!loading) {
      loading = Promise.all([referenceApi.vocabulary(), referenceApi.departments()])
        .then(([vocab, depts]) => {
          vocabulary.value = vocab
          departments.value = depts
          error.value = ''
        })
        .catch((exc: Error) => {
          loading = null
          error.value = exc.message
        })
    }
    return loading
  }

  /** After an admin changed the department tree. */
  function reload(): Promise<void> {
    loading = null
    return load()
  }

  const departmentById = computed(() => new Map(departments.value.map((d) => [d.id, d])))
  const departmentByCode = computed(() => new Map(departments.value.map((d) => [d.code, d])))

  /** The department tree for el-tree-select / el-cascader (active units only). */
  const departmentTree = computed<DepartmentNode[]>(() => {
    const nodes = new Map<number, DepartmentNode>()
    for (const d of departments.value) {
      if (d.active) nodes.set(d.id, { value: d.id, label: d.name, code: d.code, level: d.level })
    }
    const roots: DepartmentNode[] = []
    for (const d of departments.value) {
      const node = nodes.get(d.id)
      if (!node) continue
      const parent = d.parent_id === null ? undefined : nodes.get(d.parent_id)
      if (parent) (parent.children ??= []).push(node)
      else roots.push(node)
    }
    return roots
  })

  /** A department's node in the tree, with the units below it (null: none, or not an active unit). */
  function departmentNode(id: number | null | undefined): DepartmentNode | null {
    const find = (nodes: DepartmentNode[]): DepartmentNode | null => {
      for (const node of nodes) {
        if (node.value === id) return node
        const found = node.children ? find(node.children) : null
        if (found) return found
      }
      return null
    }
    return id === null || id === undefined ? null : find(departmentTree.value)
  }

  function label(kind: keyof Vocabulary, value: string | null | undefined): string {
    if (value === null || value === undefined || value === '') return ''
    const options: Option[] = vocabulary.value?.[kind] ?? []
    return options.find((o) => o.value === value)?.label ?? value
  }

  function options(kind: keyof Vocabulary): Option[] {
    return vocabulary.value?.[kind] ?? []
  }

  function departmentName(id: number | null | undefined): string {
    if (id === null || id === undefined) return ''
    return departmentById.value.get(id)?.name ?? `#${id}`
  }

  function departmentNameByCode(code: string | null | undefined): string {
    return code ? (departmentByCode.value.get(code)?.name ?? code) : ''
  }

  return { vocabulary, departments, error, reload, departmentById, departmentTree, departmentNode, load, label, options, departmentName, departmentNameByCode }
})
