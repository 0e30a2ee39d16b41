// The "New download" form: a pasted list, or a dropped .txt, .csv or .json file.

import { api, session } from './api.js'

const $ = (s, root = document) => root.querySelector(s)

/** One URL per line, "name URL" per line, CSV (fn,url) or JSON. */
export function parseList(text, kind) {
  if (kind === 'json') {
    const data = JSON.parse(text)
    return Array.isArray(data) ? data : data.task_info
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  if (kind === 'csv') {
    const rows = lines.map((l) => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1')))
    return (rows[0]?.[0]?.toLowerCase() === 'fn' ? rows.slice(1) : rows).map(([fn, url]) => ({ fn: fn || nameOf(url), url }))
  }
  return lines.map((line) => {
    const cut = line.lastIndexOf(' ')
    return cut === -1 ? { fn: nameOf(line), url: line } : { fn: line.slice(0, cut).trim(), url: line.slice(cut + 1) }
  })
}

function nameOf(url) {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop()) || 'file'
  } catch {
    return 'file'
  }
}

export function setUpSubmit({ onSubmitted }) {
  const form = $('#submit-form')
  const error = $('#form-error')

  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    error.hidden = true
    const files = parseList($('#list').value, 'lines')
    if (files.length === 0) {
      error.textContent = 'Paste at least one URL.'
      error.hidden = false
      return
    }
    const button = $('button[type="submit"]', form)
    button.disabled = true
    try {
      const task = await api('POST', '/tasks', { task_info: files })
      session.rememberArchiveUrl(task.task_id, task.archive_url)
      $('#list').value = ''
      $('#new-download').open = false
      onSubmitted(task.task_id)
    } catch (err) {
      error.textContent = err.message
      error.hidden = false
    } finally {
      button.disabled = false
    }
  })

  async function loadListFile(file) {
    const kind = file.name.endsWith('.json') ? 'json' : file.name.endsWith('.csv') ? 'csv' : 'lines'
    try {
      const files = parseList(await file.text(), kind)
      $('#list').value = files.map((f) => `${f.fn} ${f.url}`).join('\n')
    } catch (err) {
      error.textContent = `${file.name} could not be read: ${err.message}`
      error.hidden = false
    }
  }

  const drop = $('#drop')
  drop.addEventListener('click', () => $('#file').click())
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      $('#file').click()
    }
  })
  drop.addEventListener('dragover', (e) => {
    e.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (e) => {
    e.preventDefault()
    drop.classList.remove('over')
    if (e.dataTransfer.files[0]) loadListFile(e.dataTransfer.files[0])
  })
  $('#file').addEventListener('change', (e) => e.target.files[0] && loadListFile(e.target.files[0]))
}
