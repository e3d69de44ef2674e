/** Reading the process table from Linux's /proc, without spawning `ps`. */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  /** R running, S sleeping, Z zombie, … */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
}

/** Parses /proc/<pid>/stat; undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]) };
}

/**
 * The pids of a process's children, from every thread's children list (the testing kit's view:
 * everything this process started, whichever thread started it).
 */
export function childPids(pid: number | 'self' = 'self'): number[] {
  const pids = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const task of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const field of text.split(' ')) if (field.trim() !== '') pids.add(Number(field));
  }
  return [...pids];
}

/**
 * The children of ONE thread of this process: `/proc/self/task/<tid>/children` lists the children
 * whose parent is that thread, i.e. the thread that forked them.
 *
 * Facts the reaper is built on (Linux, checked with worker threads, as a subreaper and as PID 1):
 * a child spawned by a worker thread's libuv is listed under the worker's thread id only; an
 * orphan adopted by a subreaper or by PID 1 is re-parented to the thread-group leader (the main
 * thread, tid = pid); a child whose thread ends first is re-parented to a live thread of the
 * group, the leader while it lives.
 */
export function threadChildPids(tid: number): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const field of text.split(' ')) if (field.trim() !== '') pids.push(Number(field));
  return pids;
}
