//! Protocol parsers (pure functions over bytes) and their emitters.
