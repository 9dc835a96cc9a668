// Strong types for the numbers that must never be mixed up: block numbers
// and partition offsets.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace ordering {

template <typename T, typename Tag>
class StrongInt {
 public:
  using ValueType = T;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T v) : value_(v) {}
  constexpr T value() const { return value_; }
  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr StrongInt next() const { return StrongInt(value_ + 1); }
  constexpr StrongInt prev() const { return StrongInt(value_ - 1); }
  friend std::ostream& operator<<(std::ostream& os, StrongInt v) { return os << v.value_; }

 private:
  T value_{};
};

// Height of a block in the chain; genesis is 0. Monotonic, never reused.
using BlockNumber = StrongInt<uint64_t, struct BlockNumberTag>;
// Offset of a record in a channel's single Kafka partition. -1 means "before
// the first record" (the genesis block's last_offset).
using Offset = StrongInt<int64_t, struct OffsetTag>;

inline constexpr Offset kBeforeFirstOffset{-1};

}  // namespace ordering

template <typename T, typename Tag>
struct std::hash<ordering::StrongInt<T, Tag>> {
  size_t operator()(ordering::StrongInt<T, Tag> v) const noexcept { return std::hash<T>()(v.value()); }
};
