use super::*;

fn is_send<T: Send>() {}

#[test]
fn sources_can_move_to_the_capture_thread() {
    is_send::<OfflineSource>();
    is_send::<LiveSource>();
}

#[test]
fn backend_names_round_trip() {
    for b in [Backend::Ring, Backend::Pnet] {
        assert_eq!(b.to_string().parse::<Backend>(), Ok(b));
    }
    assert!("netmap".parse::<Backend>().is_err());
    assert_eq!(Backend::default(), Backend::Ring);
}

#[test]
fn default_ring_is_at_least_32_mib() {
    let o = LiveOptions::default();
    assert!(o.ring_block_size * o.ring_block_count >= 32 << 20);
    assert!(o.promisc);
}
