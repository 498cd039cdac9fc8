/// How far long work has come: `completed` of `total` units of `task` (`Spec/reliability.md`, G1). The library
/// never prints progress; a caller that wants to show it passes a `ProgressHandler`.
public struct ProgressUpdate: Sendable, Equatable {
    /// What is being done, in the user's words: "gradient check", "gradients of b.lstm", "comparing tensors".
    public var task: String
    /// Units done so far, 0 ... `total`.
    public var completed: Int
    /// Units of the whole task (forward passes, tensors); at least 1.
    public var total: Int

    public init(task: String, completed: Int, total: Int) {
        self.task = task
        self.completed = completed
        self.total = Swift.max(total, 1)
    }
}

/// Receives `ProgressUpdate`s, on the thread doing the work; it must return quickly.
public typealias ProgressHandler = @Sendable (ProgressUpdate) -> Void
