//! The schedule's one source of chance: SplitMix64, seeded. Every choice a
//! schedule makes comes from a stream derived from its seed and the
//! operation's number, so an operation's choices do not depend on how many
//! its predecessors drew.

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The stream of operation `n` of the schedule `seed`.
    pub fn for_op(seed: u64, n: usize) -> Self {
        let mut mixer = Rng(seed ^ (n as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        Rng(mixer.next())
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `bound` (which is not 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One of `weighted`'s items, each as likely as its weight.
    pub fn weighted<T: Copy>(&mut self, weighted: &[(T, u32)]) -> T {
        let total: u32 = weighted.iter().map(|(_, weight)| weight).sum();
        let mut at = self.below(total as usize) as u32;
        for (item, weight) in weighted {
            if at < *weight {
                return *item;
            }
            at -= weight;
        }
        weighted[weighted.len() - 1].0
    }
}
