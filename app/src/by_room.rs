//! Something per room, for the few rooms a page holds: a list rather than a hash map.
//! As fast at this size, and far smaller in the WebAssembly bundle, where every hash
//! map type brings its own copy of the hashing table's code.

use palaver_protocol::{RoomAbout, RoomId};

#[derive(Debug, Clone, PartialEq)]
pub struct ByRoom<V>(Vec<(RoomId, V)>);

impl<V> Default for ByRoom<V> {
    fn default() -> Self {
        ByRoom(Vec::new())
    }
}

impl<V> ByRoom<V> {
    pub fn new() -> Self {
        Self::default()
    }

    fn at(&self, room: &RoomId) -> Option<usize> {
        self.0.iter().position(|(r, _)| r == room)
    }

    pub fn get(&self, room: &RoomId) -> Option<&V> {
        self.at(room).map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, room: &RoomId) -> Option<&mut V> {
        self.at(room).map(|i| &mut self.0[i].1)
    }

    pub fn contains_key(&self, room: &RoomId) -> bool {
        self.at(room).is_some()
    }

    /// Sets the room's value; the one it had, if any.
    pub fn insert(&mut self, room: RoomId, value: V) -> Option<V> {
        match self.at(&room) {
            Some(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            None => {
                self.0.push((room, value));
                None
            }
        }
    }

    pub fn remove(&mut self, room: &RoomId) -> Option<V> {
        self.at(room).map(|i| self.0.swap_remove(i).1)
    }

    /// The room's value, made with `Default` if it has none.
    pub fn or_default(&mut self, room: RoomId) -> &mut V
    where
        V: Default,
    {
        let i = match self.at(&room) {
            Some(i) => i,
            None => {
                self.0.push((room, V::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    pub fn keys(&self) -> impl Iterator<Item = &RoomId> + Clone {
        self.0.iter().map(|(r, _)| r)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + Clone {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl ByRoom<RoomAbout> {
    /// What a room is called on the page: the name an admin gave it (for a direct
    /// conversation, the people in it), else `#name`.
    pub fn shown_name(&self, room: &RoomId) -> String {
        match self.get(room) {
            Some(a) if !a.title.is_empty() => a.title.clone(),
            _ => format!("#{room}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_room() {
        let (a, b) = (RoomId::parse("a").unwrap(), RoomId::parse("b").unwrap());
        let mut m: ByRoom<u32> = ByRoom::new();
        assert_eq!(m.insert(a.clone(), 1), None);
        *m.or_default(b.clone()) += 5;
        *m.or_default(a.clone()) += 1;
        assert_eq!(m.insert(a.clone(), 7), Some(2));
        assert_eq!((m.get(&a), m.get(&b), m.contains_key(&b)), (Some(&7), Some(&5), true));
        assert_eq!(m.remove(&a), Some(7));
        assert_eq!(m.keys().collect::<Vec<_>>(), [&b]);
        m.clear();
        assert_eq!(m.values().count(), 0);
    }
}
