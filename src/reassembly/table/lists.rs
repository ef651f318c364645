//! The slab's two recency lists (`active` and `linger`, see the table's module comment):
//! linking, unlinking and moving flows between them.

use super::{slot_mut, FlowTable, NIL};
use crate::reassembly::StreamHandler;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ListId {
    Active,
    Linger,
}

/// A doubly linked list threaded through the slab: head is newest, tail oldest.
#[derive(Clone, Copy, Debug)]
pub(super) struct List {
    pub(super) head: u32,
    pub(super) tail: u32,
}

impl List {
    pub(super) const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
}

impl<H: StreamHandler> FlowTable<H> {
    pub(super) fn touch(&mut self, i: u32) {
        let slot = slot_mut(&mut self.slots, i);
        if slot.list == ListId::Active {
            slot.since = self.now;
            if self.active.head != i {
                self.unlink(i);
                self.push_head(ListId::Active, i);
            }
        }
    }

    pub(super) fn start_linger(&mut self, i: u32) {
        let slot = slot_mut(&mut self.slots, i);
        if slot.list == ListId::Linger {
            return;
        }
        slot.since = self.now;
        self.unlink(i);
        slot_mut(&mut self.slots, i).list = ListId::Linger;
        self.push_head(ListId::Linger, i);
    }

    /// Lingers again from now, at the head of the linger list.
    pub(super) fn relinger(&mut self, i: u32) {
        self.unlink(i);
        let slot = slot_mut(&mut self.slots, i);
        slot.since = self.now;
        slot.list = ListId::Linger;
        self.push_head(ListId::Linger, i);
    }

    pub(super) fn remove(&mut self, i: u32) {
        self.unlink(i);
        if let Some(slot) = self.slots[i as usize].take() {
            self.mem -= slot.conn.buffered_cost();
            self.held -= slot.held as usize;
            self.charge(Self::flow_cost(&slot), 0);
            self.map.remove(&slot.conn.meta.key);
        }
        self.free.push(i);
        // After a flood the map would keep its largest size; its flows' charge covers
        // it only down to a third full (`memory::INDEX_BYTES`).
        if self.map.len() < self.map.capacity() / 3 && self.map.capacity() > 1024 {
            self.map.shrink_to(self.map.len() + self.map.len() / 4);
        }
    }

    pub(super) fn list(&mut self, id: ListId) -> &mut List {
        match id {
            ListId::Active => &mut self.active,
            ListId::Linger => &mut self.linger,
        }
    }

    pub(super) fn push_head(&mut self, id: ListId, i: u32) {
        let head = self.list(id).head;
        {
            let s = slot_mut(&mut self.slots, i);
            s.list = id;
            s.prev = NIL;
            s.next = head;
        }
        if head != NIL {
            slot_mut(&mut self.slots, head).prev = i;
        }
        let l = self.list(id);
        l.head = i;
        if l.tail == NIL {
            l.tail = i;
        }
    }

    fn unlink(&mut self, i: u32) {
        let (id, prev, next) = {
            let s = slot_mut(&mut self.slots, i);
            let r = (s.list, s.prev, s.next);
            s.prev = NIL;
            s.next = NIL;
            r
        };
        if prev != NIL {
            slot_mut(&mut self.slots, prev).next = next;
        } else {
            self.list(id).head = next;
        }
        if next != NIL {
            slot_mut(&mut self.slots, next).prev = prev;
        } else {
            self.list(id).tail = prev;
        }
    }
}
