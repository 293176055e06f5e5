//! Work spread over a few threads, results kept in order.

/// `f` of each item, in the items' order, computed on up to `workers` threads (this one
/// among them): the items are cut into one contiguous slice per thread.
pub(crate) fn map_in_order<T, U>(items: Vec<T>, workers: usize, f: impl Fn(T) -> U + Sync) -> Vec<U>
where
    T: Send,
    U: Send,
{
    let per = items.len().div_ceil(workers.max(1)).max(1);
    let mut slices: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter();
    loop {
        let slice: Vec<T> = items.by_ref().take(per).collect();
        if slice.is_empty() {
            break;
        }
        slices.push(slice);
    }
    let f = &f;
    let one = move |slice: Vec<T>| -> Vec<U> { slice.into_iter().map(f).collect() };
    let mut slices = slices.into_iter();
    let Some(first) = slices.next() else {
        return Vec::new();
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = slices.map(|s| scope.spawn(move || one(s))).collect();
        let mut out = one(first);
        for other in others {
            match other.join() {
                Ok(done) => out.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn results_keep_the_items_order_whatever_the_threads() {
        for workers in [0, 1, 2, 3, 7, 50] {
            for n in [0, 1, 2, 5, 49] {
                let items: Vec<usize> = (0..n).collect();
                let out = map_in_order(items, workers, |i| i * 10);
                assert_eq!(
                    out,
                    (0..n).map(|i| i * 10).collect::<Vec<_>>(),
                    "{workers} threads, {n} items"
                );
            }
        }
    }
}
