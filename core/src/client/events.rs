//! Token-update events: the seed's `token_update` signal.

use crate::resource::TokenUpdate;
use futures_channel::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

type Callback = Arc<dyn Fn(&TokenUpdate) + Send + Sync>;

/// Fans each refresh out to the registered callbacks and streams.
#[derive(Default)]
pub(crate) struct EventBus {
    callbacks: Mutex<Vec<Callback>>,
    streams: Mutex<Vec<mpsc::UnboundedSender<TokenUpdate>>>,
}

impl EventBus {
    pub(crate) fn subscribe(&self, callback: Callback) {
        self.callbacks.lock().unwrap_or_else(PoisonError::into_inner).push(callback);
    }

    pub(crate) fn stream(&self) -> mpsc::UnboundedReceiver<TokenUpdate> {
        let (tx, rx) = mpsc::unbounded();
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).push(tx);
        rx
    }

    pub(crate) fn emit(&self, event: &TokenUpdate) {
        let callbacks: Vec<Callback> = self.callbacks.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for cb in callbacks {
            cb(event);
        }
        // Dropped receivers unsubscribe themselves.
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|tx| tx.unbounded_send(event.clone()).is_ok());
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").finish_non_exhaustive()
    }
}
