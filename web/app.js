// The batchdl page: every task of the service in a list, one task in detail,
// followed live; a form to submit more. Plain modern JavaScript modules, no
// framework, nothing loaded from elsewhere. The selected task is in the URL
// (#task=ID), so a link or a reload shows it again.

import { loadErrorTable } from './format.js'
import { setUpSubmit } from './submit.js'
import { createTaskList } from './task-list.js'
import { createTaskView } from './task-view.js'

const live = document.querySelector('#announce')
// One polite live region, whose text is replaced, never rebuilt: only state changes are said.
const announce = (text) => {
  live.textContent = text
}

const selectedId = () => new URLSearchParams(location.hash.slice(1)).get('task')

// A task chosen in the list leaves the keyboard in the list; one reached by the address (a link, Back) takes it.
let fromList = false
const list = createTaskList({
  onSelect: (id) => {
    fromList = true
    location.hash = `task=${encodeURIComponent(id)}`
  },
})
const view = createTaskView({
  announce,
  onSummary: (summary) => list.update(summary),
  onPurged: (id) => {
    list.remove(id)
    history.replaceState(null, '', location.pathname)
    document.querySelector('#tasks-title').focus()
  },
})

function showSelected(focus) {
  const id = selectedId()
  list.select(id)
  if (id) view.open(id, { focus })
  else view.close()
}

window.addEventListener('hashchange', () => {
  showSelected(!fromList)
  fromList = false
})

setUpSubmit({
  onSubmitted: (id) => {
    list.refresh()
    location.hash = `task=${encodeURIComponent(id)}`
  },
})

await loadErrorTable()
await list.start()
// With nothing chosen, the newest task is shown; with no task at all, the form is open.
if (!selectedId() && list.tasks()[0]) history.replaceState(null, '', `#task=${encodeURIComponent(list.tasks()[0].task_id)}`)
if (list.tasks().length === 0) document.querySelector('#new-download').open = true
showSelected(false)
