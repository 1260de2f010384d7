//! Asynchronous processing tasks (`x-oss-async-process`): a bounded table of queued and running
//! tasks, and the outcome of the most recent finished ones for the status endpoint. Tasks run on
//! the same worker pool as every transform; the table, not the pool's queue, bounds them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::OssError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Queued,
    Running,
    Succeeded { bucket: String, object: String, file_size: u64 },
    Failed { code: String, message: String },
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Queued => "Queued",
            State::Running => "Running",
            State::Succeeded { .. } => "Succeeded",
            State::Failed { .. } => "Failed",
        }
    }

    fn finished(&self) -> bool {
        matches!(self, State::Succeeded { .. } | State::Failed { .. })
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    /// The bucket the task was submitted to: only its callers may read the status.
    pub bucket: String,
    pub created: SystemTime,
    pub finished: Option<SystemTime>,
    pub state: State,
}

struct Table {
    tasks: HashMap<String, Task>,
    /// Finished tasks, oldest first: the first to be forgotten.
    done: VecDeque<String>,
    active: usize,
}

pub struct Tasks {
    table: Mutex<Table>,
    max_active: usize,
    kept: usize,
}

impl Tasks {
    pub fn new(max_active: usize, kept: usize) -> Tasks {
        let table = Table { tasks: HashMap::new(), done: VecDeque::new(), active: 0 };
        Tasks { table: Mutex::new(table), max_active, kept }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a queued task, or refuses with 503 when `max_active` are queued or running.
    pub fn admit(&self, id: &str, bucket: &str) -> Result<(), OssError> {
        let mut t = self.lock();
        if t.active >= self.max_active {
            return Err(OssError::busy());
        }
        t.active += 1;
        let task = Task {
            id: id.to_string(),
            bucket: bucket.to_string(),
            created: SystemTime::now(),
            finished: None,
            state: State::Queued,
        };
        t.tasks.insert(id.to_string(), task);
        crate::metrics::metrics().async_tasks.inc();
        Ok(())
    }

    pub fn set(&self, id: &str, state: State) {
        let mut t = self.lock();
        let Some(task) = t.tasks.get_mut(id) else { return };
        if task.state.finished() {
            return;
        }
        let done = state.finished();
        task.state = state;
        if done {
            task.finished = Some(SystemTime::now());
            t.active -= 1;
            t.done.push_back(id.to_string());
            crate::metrics::metrics().async_tasks.dec();
            while t.done.len() > self.kept {
                if let Some(old) = t.done.pop_front() {
                    t.tasks.remove(&old);
                }
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Task> {
        self.lock().tasks.get(id).cloned()
    }

    /// The newest `max` tasks submitted to `bucket`, newest first (for the console).
    pub fn of_bucket(&self, bucket: &str, max: usize) -> Vec<Task> {
        let mut all: Vec<Task> = self.lock().tasks.values().filter(|t| t.bucket == bucket).cloned().collect();
        all.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        all.truncate(max);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_bounded_both_ways() {
        let t = Tasks::new(2, 1);
        t.admit("a", "b").unwrap();
        t.admit("c", "b").unwrap();
        assert_eq!(t.admit("d", "b").unwrap_err().status, 503);
        t.set("a", State::Running);
        assert_eq!(t.get("a").unwrap().state, State::Running);
        t.set("a", State::Failed { code: "X".into(), message: "m".into() });
        t.set("a", State::Running);
        assert_eq!(t.get("a").unwrap().state.name(), "Failed", "a finished task stays finished");
        t.admit("d", "b").unwrap();
        t.set("c", State::Succeeded { bucket: "b".into(), object: "o".into(), file_size: 1 });
        assert!(t.get("a").is_none(), "only the newest finished task is kept");
        assert_eq!(t.of_bucket("b", 10).len(), 2);
        assert!(t.of_bucket("other", 10).is_empty() && t.of_bucket("b", 1).len() == 1);
        assert_eq!(t.get("c").unwrap().state.name(), "Succeeded");
    }
}
