use super::*;

#[test]
fn buffers_come_back_to_the_taker_in_bundles() {
    let pool = FramePool::new(2);
    let mut taker = pool.taker();
    let mut ret = pool.returner();
    let ptrs: Vec<*const u8> = (0..BUNDLE)
        .map(|_| {
            let v = vec![7u8; 100];
            let p = v.as_ptr();
            ret.give(v.into());
            p
        })
        .collect();
    let got = taker.copy(&[1, 2, 3]);
    assert_eq!(got, [1, 2, 3]);
    assert!(ptrs.contains(&got.as_ptr()), "buffer was not reused");
}

#[test]
fn too_small_or_absent_buffers_mean_a_fresh_copy() {
    let mut t = BufTaker::unpooled();
    assert_eq!(t.copy(b"abc"), b"abc");
    let pool = FramePool::new(1);
    let mut taker = pool.taker();
    let mut ret = pool.returner();
    for _ in 0..BUNDLE {
        ret.give(Vec::with_capacity(2).into());
    }
    assert_eq!(taker.copy(&[9; 1000]), vec![9; 1000]);
}

#[test]
fn a_full_pool_drops_what_it_is_given() {
    let pool = FramePool::new(1);
    let mut ret = pool.returner();
    for _ in 0..3 * BUNDLE {
        ret.give(vec![0; 10].into());
    }
    assert_eq!(pool.rx.len(), 1);
}
