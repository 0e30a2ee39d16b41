// Where the benchmark writes every tool's files (and nginx's): tmpfs by
// default. This project's test machine keeps its root on ext4 without a
// journal, where creating a file first skips every inode of its group deleted
// in the last minute or more (ext4's recently_deleted check). There, a file
// creation cost 20 us to 900 us depending on how many files the rounds before
// had deleted: the small workload measured deletion history rather than the
// tools. tmpfs creates a file in about 5 us whatever came before. `--dir`
// measures on a disk of your choice.
import { statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'

const SHM = '/dev/shm'
/** big: 2 GiB served by nginx and 2 GiB downloaded, with room to spare */
const NEEDED_BYTES = 5 * 1024 ** 3

const FILESYSTEMS: Record<number, string> = {
  0x01021994: 'tmpfs',
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
}

export interface Venue {
  dir: string
  filesystem: string
}

export async function chooseVenue(chosen: string | undefined): Promise<Venue> {
  if (chosen) return { dir: chosen, filesystem: await filesystemOf(chosen) }
  const shm = await statfs(SHM).catch(() => null)
  if (shm && FILESYSTEMS[shm.type] === 'tmpfs' && shm.bavail * shm.bsize >= NEEDED_BYTES) return { dir: SHM, filesystem: 'tmpfs' }
  return { dir: tmpdir(), filesystem: await filesystemOf(tmpdir()) }
}

async function filesystemOf(dir: string): Promise<string> {
  const { type } = await statfs(dir)
  return FILESYSTEMS[type] ?? `type 0x${type.toString(16)}`
}
