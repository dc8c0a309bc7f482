import VitreousTensor

/// The switch that makes every backend fill each new allocation with NaN before an operation writes it, so
/// that a kernel that leaves an element unwritten shows up as NaN in its output instead of passing with
/// whatever the pool's memory held. Tests turn it on before touching a backend; costs one fill per allocation.
public enum NaNPoisoning {
    /// On or off for the whole process (off by default). Safe to set from any thread.
    public static var isEnabled: Bool {
        get { allocationPoisoning }
        set { allocationPoisoning = newValue }
    }
}
